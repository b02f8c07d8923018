package core

import (
	"context"
	"time"
)

// DrainAPIVersions are the log drain contract versions this core speaks.
var DrainAPIVersions = []int{1}

// Log drain capabilities a plugin may declare.
const (
	// DrainCapFilter: the plugin also implements [LogFilter] and may sit on
	// the drain path to rewrite or drop messages (e.g. redact secrets).
	DrainCapFilter = "filter"
	// DrainCapDedup: the plugin's receiver drops a batch whose FrameID it has
	// already accepted, so the host may retry a batch safely.
	DrainCapDedup = "dedup"
)

// LogMessage is one RFC 5424 log message as Logplex carries it.
type LogMessage struct {
	// Time is when the line was produced; rendered with microseconds.
	Time time.Time `json:"time"`
	// Priority is the RFC 5424 PRI value (facility*8 + severity); Logplex
	// uses 190 (local7.info) for app and router lines.
	Priority int `json:"priority"`
	// Host is the RFC 5424 HOSTNAME; Heroku sends "host".
	Host string `json:"host"`
	// App is the RFC 5424 APP-NAME: "app" for dyno output, "heroku" for the
	// platform's own lines.
	App string `json:"app"`
	// ProcID is the RFC 5424 PROCID: "web.1", "router", "api", …
	ProcID string `json:"procid"`
	// MsgID is the RFC 5424 MSGID; "-" when absent.
	MsgID string `json:"msgid,omitempty"`
	// Text is the message body, without a trailing newline.
	Text string `json:"text"`
}

// DrainBatch is a batch of one app's messages for one drain, oldest first.
type DrainBatch struct {
	// DrainID is the drain's token, "d.<uuid>"; sent as Logplex-Drain-Token.
	DrainID string `json:"drain_id"`
	// URL is the drain's destination as the user added it.
	URL string `json:"url"`
	// AppName is the app the messages belong to.
	AppName string `json:"app_name"`
	// FrameID identifies the batch; a retry of the same batch carries the same
	// FrameID so that receivers can drop duplicates.
	FrameID string `json:"frame_id"`
	// Messages are in order within each source.
	Messages []LogMessage `json:"messages"`
}

// DeliverResult reports what a drain did with a batch.
type DeliverResult struct {
	// Accepted is how many messages the destination accepted.
	Accepted int `json:"accepted"`
}

// LogDrain receives batches of log messages for an app.
//
// Deliver returns nil once the destination has accepted the batch. It returns
// an error wrapping ErrUnavailable or ErrTimeout when the batch may be retried
// (the host retries with backoff, same FrameID), and ErrInvalid when the batch
// or the drain URL can never be delivered.
type LogDrain interface {
	Plugin
	Deliver(ctx context.Context, batch DrainBatch) (DeliverResult, error)
}

// LogFilter is an optional drain-path capability (DrainCapFilter): Filter
// returns the messages to pass on, in order, possibly rewritten or fewer.
type LogFilter interface {
	Filter(ctx context.Context, msgs []LogMessage) ([]LogMessage, error)
}
