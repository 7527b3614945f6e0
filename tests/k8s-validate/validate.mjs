// Validates Kubernetes custom resources with the published model classes of their operators, strictly:
// the model's .validate() (the CRD schema), then no field its type declarations do not declare.
// Input (stdin): a JSON array of objects. Output (stdout): a JSON array, one
// {kind, name, ok, errors} per object, in order. Exit 0 when all are valid, 1 otherwise, 2 on bad input.
// Usage: node validate.mjs < resources.json   (tests/unit/test_k8s_manifests.py runs it).
import { readFileSync } from "node:fs";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { PrometheusRule, ServiceMonitor, PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { unknownFields } from "./strict.mjs";

const KEDA = "@kubernetes-models/keda/keda.sh/v1alpha1";
const PROMETHEUS = "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
// Model class, and its declaration file for the unknown-field check.
const MODELS = {
  "keda.sh/v1alpha1/ScaledObject": [ScaledObject, `${KEDA}/ScaledObject.d.ts`],
  "keda.sh/v1alpha1/TriggerAuthentication": [TriggerAuthentication, `${KEDA}/TriggerAuthentication.d.ts`],
  "monitoring.coreos.com/v1/ServiceMonitor": [ServiceMonitor, `${PROMETHEUS}/ServiceMonitor.d.ts`],
  "monitoring.coreos.com/v1/PodMonitor": [PodMonitor, `${PROMETHEUS}/PodMonitor.d.ts`],
  "monitoring.coreos.com/v1/PrometheusRule": [PrometheusRule, `${PROMETHEUS}/PrometheusRule.d.ts`],
};

function check(doc) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const name = doc.metadata?.name ?? "";
  if (!MODELS[key]) return { kind: key, name, ok: false, errors: [`no model for ${key}`] };
  const [Model, declaration] = MODELS[key];
  try {
    new Model(doc).validate();
    const unknown = unknownFields(doc, declaration, `I${doc.kind}`);
    return { kind: key, name, ok: unknown.length === 0, errors: unknown };
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
