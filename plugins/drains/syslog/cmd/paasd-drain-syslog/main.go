// Command paasd-drain-syslog serves the reference syslog drain (TCP and TLS,
// RFC 5424 with RFC 6587 octet counting) as a go-plugin process, for hosts
// that want their drains out of process. Reference it as
// "plugin:/path/to/paasd-drain-syslog".
package main

import (
	syslogdrain "github.com/paasd/paasd/plugins/drains/syslog"
	"github.com/paasd/paasd/sdk"
)

func main() { sdk.Serve(syslogdrain.New()) }
