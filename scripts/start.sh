#!/usr/bin/env bash
# The main job: run k0sflow. Against the configured Kubernetes ($KUBECONFIG or in-cluster) and
# Temporal ($TEMPORAL_ADDRESS) when they are configured; with neither, against an embedded default
# it starts here: a local Temporal dev server with its Web UI and a local API server with Cluster
# API core and our CRDs (the proving ground, without SSH hosts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

kube_configured=false
temporal_configured=false
{ [ -n "${KUBECONFIG:-}" ] || [ -n "${KUBERNETES_SERVICE_HOST:-}" ]; } && kube_configured=true
[ -n "${TEMPORAL_ADDRESS:-}" ] && temporal_configured=true

if ! $kube_configured && ! $temporal_configured; then
  dir=${K0SFLOW_DEV_DIR:-$PWD/.proving-ground/dev}
  npm run --silent proving-ground -- up --dir "$dir" --ui
  trap 'npm run --silent proving-ground -- down --dir "$dir"' EXIT
  eval "$(node -e '
    const e = require(process.argv[1]);
    console.log(`export KUBECONFIG=${e.management.kubeconfig} TEMPORAL_ADDRESS=${e.temporal.address} TEMPORAL_NAMESPACE=${e.temporal.namespace}`);
    console.log(`UI_URL=${e.temporal.uiUrl ?? ""}`);
  ' "$dir/env.json")"
  cat <<MSG

k0sflow is starting against the embedded default:
  Temporal Web UI:  ${UI_URL}
  kubectl:          export KUBECONFIG=${KUBECONFIG}
                    kubectl is at $(ls "${K0SFLOW_CACHE:-$HOME/.cache/k0sflow}"/bin/kubectl-* | head -n 1)
  Try:              kubectl apply -f test/fixtures/seeds/remote-machine-provider.1.yaml
                    (then watch its workflow in the Web UI: K0sflowKind = "RemoteCluster")
Stop with Ctrl-C; that also stops the embedded servers.

MSG
elif ! $kube_configured || ! $temporal_configured; then
  echo "Configure both KUBECONFIG and TEMPORAL_ADDRESS, or neither for the embedded default." >&2
  exit 2
fi

npm run --silent build
# Not exec: on Ctrl-C k0sflow shuts down gracefully first, then the EXIT trap stops the embedded servers.
node bin/k0sflow.js run "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
wait "$pid" || true
wait "$pid" 2>/dev/null || true
