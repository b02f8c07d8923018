// Command broker-memory is an example third-party add-on broker served as a
// paasd go-plugin: build it and point paasd at it with
//
//	go build -o broker-memory ./sdk/examples/broker-memory
//	# paasd config: "brokers": [{"ref": "plugin:/path/to/broker-memory"}]
//
// Its whole main is one sdk.Serve call; the broker lives in package memory.
package main

import (
	"github.com/paasd/paasd/sdk"
	"github.com/paasd/paasd/sdk/examples/broker-memory/memory"
)

func main() {
	sdk.Serve(memory.New())
}
