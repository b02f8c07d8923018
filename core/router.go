package core

import "context"

// RouterAPIVersions are the router contract versions this core speaks.
var RouterAPIVersions = []int{1}

// Router capabilities a plugin may declare.
const (
	// RouterCapTLS: the router terminates TLS with per-domain certificates
	// chosen by SNI.
	RouterCapTLS = "tls"
	// RouterCapWebSocket: the router proxies WebSocket upgrades.
	RouterCapWebSocket = "websocket"
	// RouterCapMiddleware: the router runs per-app http-wasm middleware.
	RouterCapMiddleware = "middleware"
	// RouterCapLogs: the router implements [RouterLogSource].
	RouterCapLogs = "logs"
)

// Backend is one routable web dyno.
type Backend struct {
	// Dyno is the dyno name, e.g. "web.1"; it appears as dyno= in router logs.
	Dyno string `json:"dyno"`
	// Address is host:port.
	Address string `json:"address"`
}

// Certificate is a PEM certificate chain and key for some hosts.
type Certificate struct {
	Hosts   []string `json:"hosts"`
	CertPEM string   `json:"cert_pem"`
	KeyPEM  string   `json:"key_pem"`
}

// AppState tells the router what to do with an app that has no backends.
type AppState string

// App states for routing.
const (
	// AppRunning: route to Backends; none means H14 No web dynos running.
	AppRunning AppState = "running"
	// AppCrashed: every web dyno crashed (H10 App crashed).
	AppCrashed AppState = "crashed"
	// AppIdle: the app is asleep; hold requests until a table shows it
	// running (the reference router also calls its wake hook, Options.Wake).
	AppIdle AppState = "idle"
	// AppBlank: the app has never been deployed (H81 Blank app).
	AppBlank AppState = "blank"
)

// Route is everything the router needs to serve one app.
type Route struct {
	App   string `json:"app"`
	AppID string `json:"app_id,omitempty"`
	// Hosts are the app's hostnames: APP.<base domain> and custom domains.
	Hosts []string `json:"hosts"`
	// Backends are the app's up web dynos.
	Backends []Backend `json:"backends,omitempty"`
	State    AppState  `json:"state,omitempty"`
	// Maintenance serves H80 to every request.
	Maintenance bool `json:"maintenance,omitempty"`
	// Balancer is "random" (default), "least-conn" or "p2c".
	Balancer string `json:"balancer,omitempty"`
	// Middleware lists wasm: references of http-wasm modules, in order.
	Middleware []string `json:"middleware,omitempty"`
	// Certificates are the app's TLS certificates.
	Certificates []Certificate `json:"certificates,omitempty"`
}

// RouteTable is a complete snapshot of every app's route.
type RouteTable struct {
	// Version increases with every snapshot; a router ignores older ones.
	Version int64   `json:"version"`
	Routes  []Route `json:"routes"`
}

// Router serves HTTP for every app and keeps a route table.
//
// SetRoutes replaces the whole table atomically: no request is routed with a
// mix of the old and the new table, and a backend absent from the new table
// gets no new request once SetRoutes returns. A table with a Version lower than
// the current one is ignored. It returns an error wrapping ErrInvalid naming the
// route for a bad table and keeps the old one.
type Router interface {
	Plugin
	SetRoutes(ctx context.Context, table RouteTable) error
}

// RouterLogSource is an optional router capability (RouterCapLogs): Logs calls
// fn with each router log line (procid "router", app "heroku") until ctx ends.
type RouterLogSource interface {
	Logs(ctx context.Context, fn func(app string, msg LogMessage) error) error
}
