package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/paasd/paasd/conformance"
	"github.com/paasd/paasd/core"
)

// credentialsCheck checks a binding's token against b.
func credentialsCheck(b *Broker) func(context.Context, map[string]string) error {
	return func(_ context.Context, cfg map[string]string) error {
		u, err := url.Parse(cfg["URL"])
		if err != nil {
			return err
		}
		if !b.Valid(u.Host, strings.TrimPrefix(u.Path, "/"), cfg["TOKEN"]) {
			return fmt.Errorf("token of %s is not valid", cfg["URL"])
		}
		return nil
	}
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		config json.RawMessage
	}{
		{desc: "async", config: nil},
		{desc: "sync", config: json.RawMessage(`{"async":false}`)},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			b := New()
			target := conformance.InProcessBroker(func() core.AddonBroker { return b }, tc.config)
			target.OtherParameters = json.RawMessage(`{"size":2}`)
			target.CheckCredentials = credentialsCheck(b)
			conformance.Broker(t, target)
		})
	}
}
