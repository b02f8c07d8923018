package goplugin

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/wire"
)

// Serve serves handler as a plugin of contract c speaking the given contract
// API versions, and returns when the host closes the plugin. It is the
// plugin side of [Opener]; plugin authors call sdk.Serve, which builds
// handler from their implementation.
//
// Serve writes go-plugin's handshake line to stdout, and from then on the
// process's os.Stdout and os.Stderr are forwarded to the host's log. When the
// host offers no version in versions, Serve says so on stderr (the host
// quotes it in its error) and the host rejects the plugin.
func Serve(c core.Contract, versions []int, handler interface {
	wire.Handler
	wire.StreamHandler
}) {
	if offered := os.Getenv("PLUGIN_PROTOCOL_VERSIONS"); offered != "" && os.Getenv(MagicCookieKey) == MagicCookieValue {
		if !sharesVersion(offered, versions) {
			fmt.Fprintf(os.Stderr, "paasd plugin speaks %s contract API versions %s; the host offers [%s]\n",
				c, versionList(versions), strings.ReplaceAll(offered, ",", " "))
		}
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake(),
		VersionedPlugins: pluginSets(c, versions, &grpcPlugin{handler: handler}),
		GRPCServer:       newGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "paasd-plugin",
			Level:      hclog.Info,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
}

func sharesVersion(offered string, versions []int) bool {
	for _, s := range strings.Split(offered, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		for _, have := range versions {
			if have == v {
				return true
			}
		}
	}
	return false
}

// newGRPCServer is the plugin's gRPC server: go-plugin's options plus
// paasd's message limits and a fixed flow-control window.
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage),
		// A fixed window turns off BDP probing: no ping frames between
		// small calls.
		grpc.InitialWindowSize(windowSize), grpc.InitialConnWindowSize(windowSize))...)
}
