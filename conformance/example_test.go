package conformance_test

import (
	"context"
	"os"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/plugins/drains/redact"
)

// Run the log drain suite against an in-process drain and print the
// summary, as `paas conformance drain` does.
func ExampleRun() {
	target := conformance.InProcessDrain(func() core.LogDrain { return redact.New() }, nil)
	suite := conformance.DrainSuite(target).AtLeast(conformance.Must)
	rep := conformance.Run(context.Background(), suite, "builtin:redact")
	_ = conformance.WriteSummary(os.Stdout, rep)
	// Output:
	// paasd conformance: drain suite against builtin:redact
	// plugin: paasd.drain.redact 1.0.0 (contract drain, api versions [1], capabilities: filter)
	//
	// PASS  MUST  drain.describe.shape                 Describe gives a dotted id, the drain contract and an API version the host speaks
	// PASS  MUST  drain.deliver.accepts                an accepted batch reports Accepted equal to the number of messages
	// PASS  MUST  drain.deliver.empty                  an empty batch is accepted with Accepted 0
	// PASS  MUST  drain.deliver.max-message            a message of 10,240 bytes (Logplex's maximum) is accepted
	// PASS  MUST  drain.deliver.unicode                messages in any script, with emoji and combining marks, are accepted
	// PASS  MUST  drain.deliver.concurrent             concurrent Deliver calls on one instance all succeed
	// PASS  MUST  drain.deliver.cancelled              Deliver with a cancelled context returns an error and does not hang
	// PASS  MUST  drain.filter.empty                   filtering no messages gives no messages and no error
	// PASS  MUST  drain.filter.order                   filtered messages keep their order within each source and are not invented
	// SKIP  MUST  drain.delivery.syslog.framing        syslog:// delivers each message as one RFC 6587 octet-counted RFC 5424 frame with Logplex's fields [needs capability "syslog"]
	// SKIP  MUST  drain.delivery.syslog.order          syslog:// keeps every message, in order within each source, across batches [needs capability "syslog"]
	// SKIP  MUST  drain.delivery.syslog.large          syslog:// delivers a message of 10,000 bytes intact [needs capability "syslog"]
	// SKIP  MUST  drain.delivery.syslog.reconnect      syslog:// reconnects after the receiver closes the connection; retried batches arrive [needs capability "syslog"]
	// SKIP  MUST  drain.delivery.syslog.unreachable    syslog:// to a closed port fails with a ddRetryable error (ErrUnavailable or ErrTimeout), promptly [needs capability "syslog"]
	// SKIP  MUST  drain.delivery.syslog.bad-url        a syslog:// URL without a port is refused with ErrInvalid [needs capability "syslog"]
	// SKIP  MUST  drain.delivery.syslog-tls.verify     syslog+tls:// delivers over TLS to a receiver whose certificate chains to a trusted CA [needs capability "syslog-tls"]
	// SKIP  MUST  drain.delivery.syslog-tls.untrusted  syslog+tls:// refuses a receiver whose certificate is not trusted, and sends it nothing [needs capability "syslog-tls"]
	// SKIP  MUST  drain.delivery.https.format          https:// POSTs application/logplex-1 frames with Logplex-Msg-Count, Logplex-Frame-Id and Logplex-Drain-Token [needs capability "https"]
	// SKIP  MUST  drain.delivery.https.batching        https:// splits a large batch into requests of at most 100 KiB, delivering every message in order [needs capability "https"]
	// SKIP  MUST  drain.delivery.https.retry-dedup     https:// retries a failed batch with the same Logplex-Frame-Id, so a de-duplicating receiver keeps one copy [needs capability "https"]
	// SKIP  MUST  drain.delivery.https.slow            https:// gives up when the caller's deadline passes on a receiver that never answers [needs capability "https"]
	// SKIP  MUST  drain.delivery.https.untrusted       https:// refuses a receiver whose certificate is not trusted, and posts it nothing [needs capability "https"]
	//
	// skipped, capability not declared:
	//   drain.delivery.syslog.framing (syslog)
	//   drain.delivery.syslog.order (syslog)
	//   drain.delivery.syslog.large (syslog)
	//   drain.delivery.syslog.reconnect (syslog)
	//   drain.delivery.syslog.unreachable (syslog)
	//   drain.delivery.syslog.bad-url (syslog)
	//   drain.delivery.syslog-tls.verify (syslog-tls)
	//   drain.delivery.syslog-tls.untrusted (syslog-tls)
	//   drain.delivery.https.format (https)
	//   drain.delivery.https.batching (https)
	//   drain.delivery.https.retry-dedup (https)
	//   drain.delivery.https.slow (https)
	//   drain.delivery.https.untrusted (https)
	//
	// conformant: yes (9 passed, 0 failed [MUST 0, SHOULD 0, MAY 0], 13 skipped)
}
