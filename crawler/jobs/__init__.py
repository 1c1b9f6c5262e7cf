"""The scheduling core and what its front ends (`run`, `worker`) share: metrics, HTTP probes."""
