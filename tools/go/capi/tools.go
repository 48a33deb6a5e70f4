//go:build tools

// Package tools pins the Cluster API core manager the proving ground runs.
package tools

import _ "sigs.k8s.io/cluster-api/core"
