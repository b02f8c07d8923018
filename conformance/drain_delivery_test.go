package conformance

import (
	"context"
	"net"
	"net/url"
	"testing"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/logplex/syslog"
)

// ddLossyDrain is a deliberately broken syslog drain: it dials per batch and
// never sends a batch's last message.
type ddLossyDrain struct{}

func (ddLossyDrain) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{ID: "test.drain.lossy", Contract: core.ContractDrain, APIVersions: []int{1}, Capabilities: []string{DrainCapSyslog}}, nil
}
func (ddLossyDrain) Configure(context.Context, core.ConfigureRequest) error { return nil }
func (ddLossyDrain) Deliver(ctx context.Context, b core.DrainBatch) (core.DeliverResult, error) {
	u, err := url.Parse(b.URL)
	if err != nil || u.Port() == "" {
		return core.DeliverResult{}, core.ErrInvalid
	}
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return core.DeliverResult{}, core.ErrUnavailable
	}
	defer c.Close()
	var buf []byte
	for _, m := range b.Messages[:len(b.Messages)-1] {
		buf = syslog.AppendFrame(buf, m, syslog.RFC5424)
	}
	_, _ = c.Write(buf)
	return core.DeliverResult{Accepted: len(b.Messages)}, nil
}

func TestDeliverySuiteCatchesALossyDrain(t *testing.T) {
	d := ddLossyDrain{}
	info, _ := d.Describe(context.Background())
	s := DrainDeliverySuite(info, func(*T, DrainEnv) core.LogDrain { return d })
	for i := range s.Checks {
		s.Checks[i].Run = ddWithShortTimeout(s.Checks[i].Run)
	}
	rep := Run(context.Background(), s, "lossy")
	if rep.Conformant {
		t.Fatalf("a drain that loses messages was reported conformant: %+v", rep.Results)
	}
	status := map[string]Status{}
	for _, r := range rep.Results {
		status[r.ID] = r.Status
	}
	tests := []struct {
		desc, id string
		want     Status
	}{
		{"lost message fails framing", "drain.delivery.syslog.framing", Fail},
		{"bad URL still refused", "drain.delivery.syslog.bad-url", Pass},
		{"undeclared capability skipped", "drain.delivery.https.format", Skip},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if status[tc.id] != tc.want {
				t.Errorf("%s: %s, want %s", tc.id, status[tc.id], tc.want)
			}
		})
	}
}

// ddWithShortTimeout bounds a check that waits for messages that never come.
func ddWithShortTimeout(run func(*T)) func(*T) {
	return func(t *T) {
		ctx, cancel := context.WithTimeout(t.ctx, 3e9)
		defer cancel()
		t.ctx = ctx
		run(t)
	}
}
