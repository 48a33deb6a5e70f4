//go:build tools

// Package tools pins etcd so `go build go.etcd.io/etcd/server/v3` builds the pinned server.
package tools

import _ "go.etcd.io/etcd/server/v3"
