package core

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    Ref
		wantErr string
	}{
		{desc: "builtin", in: "builtin:syslog", want: Ref{RefBuiltin, "syslog"}},
		{desc: "plugin path", in: "plugin:/usr/lib/paasd/drain", want: Ref{RefPlugin, "/usr/lib/paasd/drain"}},
		{desc: "wasm keeps colons in path", in: "wasm:./a:b.wasm", want: Ref{RefWasm, "./a:b.wasm"}},
		{desc: "no kind", in: "syslog", wantErr: `plugin reference "syslog": want builtin:NAME`},
		{desc: "unknown kind", in: "docker:x", wantErr: `unknown kind "docker"`},
		{desc: "empty target", in: "plugin:  ", wantErr: `empty plugin target`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseRef(tc.in)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalid)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String())
		})
	}
}

func TestNegotiateVersion(t *testing.T) {
	tests := []struct {
		desc         string
		host, plugin []int
		want         int
	}{
		{desc: "single common", host: []int{1}, plugin: []int{1}, want: 1},
		{desc: "highest common", host: []int{1, 2, 3}, plugin: []int{3, 2, 5}, want: 3},
		{desc: "none", host: []int{1}, plugin: []int{2}},
		{desc: "plugin declares none", host: []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := NegotiateVersion(tc.host, tc.plugin)
			if tc.want == 0 {
				assert.ErrorIs(t, err, ErrUnsupported)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestErrorCodesRoundTrip(t *testing.T) {
	for _, c := range errorCodes {
		t.Run(c.code, func(t *testing.T) {
			wrapped := fmt.Errorf("context: %w", c.err)
			assert.Equal(t, c.code, ErrorCode(wrapped))
			assert.Same(t, c.err, ErrorForCode(c.code))
		})
	}
	assert.Equal(t, "internal", ErrorCode(errors.New("other")))
	assert.Nil(t, ErrorForCode("internal"))
}

func TestLookupDynoSize(t *testing.T) {
	s, ok := LookupDynoSize("standard-2x")
	require.True(t, ok)
	assert.Equal(t, int64(1<<30), s.Limits.MemoryBytes)
	_, ok = LookupDynoSize("huge")
	assert.False(t, ok)
}
