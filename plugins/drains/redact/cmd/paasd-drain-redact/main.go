// Command paasd-drain-redact serves the redact drain-path filter as a
// go-plugin process. Reference it as "plugin:/path/to/paasd-drain-redact".
package main

import (
	"github.com/paasd/paasd/plugins/drains/redact"
	"github.com/paasd/paasd/sdk"
)

func main() { sdk.Serve(redact.New()) }
