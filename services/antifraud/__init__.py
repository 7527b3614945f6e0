"""Anti-fraud service: watches every accepted vote for brushing (刷票) and decides what no longer counts."""
