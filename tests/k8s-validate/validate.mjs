// Validates Kubernetes custom resources with the published model classes of their operators.
// Input (stdin): a JSON array of objects. Output (stdout): a JSON array, one
// {kind, name, ok, errors} per object, in order. Exit 0 when all are valid, 1 otherwise, 2 on bad input.
// Usage: node validate.mjs < resources.json   (tests/unit/test_k8s_manifests.py runs it).
import { readFileSync } from "node:fs";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { PrometheusRule, ServiceMonitor, PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const MODELS = {
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

function check(doc) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const name = doc.metadata?.name ?? "";
  const Model = MODELS[key];
  if (!Model) return { kind: key, name, ok: false, errors: [`no model for ${key}`] };
  try {
    new Model(doc).validate();
    return { kind: key, name, ok: true, errors: [] };
  } catch (err) {
    const details = (err.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
    return { kind: key, name, ok: false, errors: details.length ? details : [String(err.message ?? err)] };
  }
}

let docs;
try {
  docs = JSON.parse(readFileSync(0, "utf8"));
  if (!Array.isArray(docs)) throw new Error("expected a JSON array of resources");
} catch (err) {
  console.error(`bad input: ${err.message}`);
  process.exit(2);
}
const results = docs.map(check);
console.log(JSON.stringify(results));
process.exit(results.every((r) => r.ok) ? 0 : 1);
