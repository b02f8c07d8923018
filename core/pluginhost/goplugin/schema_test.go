package goplugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
	"github.com/paasd/paasd/core/pluginhost/goplugin"
	"github.com/paasd/paasd/schemas"
)

// TestRealSchemaRejectsBadAnswer runs a real plugin process through a host
// with paasd's real CUE validator: an answer that breaks
// #DrainDeliverResponse is rejected with the plugin, the field and the rule
// named, and the plugin keeps serving good calls.
func TestRealSchemaRejectsBadAnswer(t *testing.T) {
	v, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	h := &pluginhost.Host{GoPlugin: &goplugin.Opener{Logger: quiet}, Validator: v, Logger: quiet, DescribeTimeout: time.Minute}
	t.Cleanup(func() { _ = h.Close() })
	l, err := h.Load(context.Background(), core.ContractDrain, "plugin:"+testPlugin, json.RawMessage(`{"tag":"t1"}`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	_, err = deliver(context.Background(), l.Drain(), "bad", "")
	if !errors.Is(err, core.ErrSchemaViolation) {
		t.Fatalf("bad answer: got %v, want a schema violation", err)
	}
	for _, want := range []string{"plugin:" + testPlugin, "Deliver response", "accepted", ">=0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if res, err := deliver(context.Background(), l.Drain(), "ok", ""); err != nil || res.Accepted != 2 {
		t.Fatalf("good call after the rejected one: %+v, %v", res, err)
	}
}
