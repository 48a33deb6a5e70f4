#!/usr/bin/env bash
# Builds the proving ground's Go binaries from the Go module proxy, once per version, into a cache
# outside the repo. Idempotent: a binary already built for its version is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${K0SFLOW_CACHE:-$HOME/.cache/k0sflow}
bin="$cache/bin"
mkdir -p "$bin"

# One build at a time (2 cores are easily saturated): a second caller waits, then finds it all built.
exec 8>"$cache/build-go-tools.lock"
if ! flock -n 8; then
  echo "build-go-tools: another build is running; waiting for it" >&2
  flock 8
fi

ETCD_VERSION=v3.6.16
K8S_VERSION=v1.35.4
CAPI_VERSION=v1.14.2

k8s_ldflags() {
  local minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  echo "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
-X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
}

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=${5:-"-s -w"}
  local out="$bin/$name-$version"
  if [ -x "$out" ]; then return 0; fi
  echo "building $name $version" >&2
  local start=$SECONDS
  (cd "$here/tools/go/$dir" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "built $name $version in $((SECONDS - start))s" >&2
}

build etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3
build kube-apiserver "$K8S_VERSION" kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags)"
build kube-controller-manager "$K8S_VERSION" kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$(k8s_ldflags)"
build kubectl "$K8S_VERSION" kubernetes k8s.io/kubernetes/cmd/kubectl "$(k8s_ldflags)"
build capi-manager "$CAPI_VERSION" capi sigs.k8s.io/cluster-api/core

# CAPI's CRDs and webhook manifests ship in its module; keep a copy beside the binary.
capi_config="$cache/capi-$CAPI_VERSION"
if [ ! -d "$capi_config/crd" ]; then
  src=$(cd "$here/tools/go/capi" && go list -m -f '{{.Dir}}' sigs.k8s.io/cluster-api)
  mkdir -p "$capi_config.tmp"
  cp -r "$src/core/config/crd/bases" "$capi_config.tmp/crd"
  cp "$src/core/config/webhook/manifests.yaml" "$capi_config.tmp/webhooks.yaml"
  chmod -R u+w "$capi_config.tmp"
  rm -rf "$capi_config" && mv "$capi_config.tmp" "$capi_config"
fi
