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
	// PASS  MUST  drain.describe.shape       Describe gives a dotted id, the drain contract and an API version the host speaks
	// PASS  MUST  drain.deliver.accepts      an accepted batch reports Accepted equal to the number of messages
	// PASS  MUST  drain.deliver.empty        an empty batch is accepted with Accepted 0
	// PASS  MUST  drain.deliver.max-message  a message of 10,240 bytes (Logplex's maximum) is accepted
	// PASS  MUST  drain.deliver.unicode      messages in any script, with emoji and combining marks, are accepted
	// PASS  MUST  drain.deliver.concurrent   concurrent Deliver calls on one instance all succeed
	// PASS  MUST  drain.deliver.cancelled    Deliver with a cancelled context returns an error and does not hang
	// PASS  MUST  drain.filter.empty         filtering no messages gives no messages and no error
	// PASS  MUST  drain.filter.order         filtered messages keep their order within each source and are not invented
	//
	// conformant: yes (9 passed, 0 failed [MUST 0, SHOULD 0, MAY 0], 0 skipped)
}
