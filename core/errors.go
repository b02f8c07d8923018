package core

import "errors"

// Sentinel errors shared by every contract and by the store. Implementations
// wrap them with %w and context; callers test them with errors.Is. Each maps to
// one wire code (see [ErrorCode]) so that the meaning survives a go-plugin or
// Wasm boundary.
var (
	// ErrNotFound means the named resource (app, dyno, instance, …) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a resource with the same identity already exists
	// with the same attributes (idempotent create); callers may treat it as success.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict means a resource with the same identity exists with different
	// attributes, or the operation conflicts with the resource's state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the request is malformed or breaks its schema; the
	// wrapping message names the field and the rule.
	ErrInvalid = errors.New("invalid request")
	// ErrUnsupported means the implementation does not offer the requested
	// method or capability.
	ErrUnsupported = errors.New("unsupported")
	// ErrUnavailable means the implementation cannot serve right now (a plugin
	// crashed and is restarting, a backend is down); the call may be retried.
	ErrUnavailable = errors.New("unavailable")
	// ErrTimeout means the call's deadline passed before the implementation answered.
	ErrTimeout = errors.New("timeout")
	// ErrPermissionDenied means the caller may not perform the operation.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrGone means the resource existed but is gone (OSB 410 on deprovision).
	ErrGone = errors.New("gone")
	// ErrAsyncRequired means the broker can only complete the operation
	// asynchronously and the caller did not accept that (OSB AsyncRequired).
	ErrAsyncRequired = errors.New("async required")
	// ErrConcurrency means another operation on the same resource is in
	// progress (OSB ConcurrencyError).
	ErrConcurrency = errors.New("concurrent operation in progress")
	// ErrSchemaViolation means a message from a plugin broke its contract's
	// CUE definition; the wrapping message names the plugin, field and rule.
	ErrSchemaViolation = errors.New("schema violation")
	// ErrPluginFailed means the plugin could not be loaded or its process or
	// module failed in a way that is not one of the errors above.
	ErrPluginFailed = errors.New("plugin failed")
)

// errorCodes is the wire code for each sentinel, in match order.
var errorCodes = []struct {
	code string
	err  error
}{
	{"not_found", ErrNotFound},
	{"already_exists", ErrAlreadyExists},
	{"conflict", ErrConflict},
	{"invalid", ErrInvalid},
	{"unsupported", ErrUnsupported},
	{"unavailable", ErrUnavailable},
	{"timeout", ErrTimeout},
	{"forbidden", ErrPermissionDenied},
	{"gone", ErrGone},
	{"async_required", ErrAsyncRequired},
	{"concurrency", ErrConcurrency},
	{"schema_violation", ErrSchemaViolation},
	{"plugin_failed", ErrPluginFailed},
}

// ErrorCode returns the wire code of the first sentinel err wraps, or
// "internal" when it wraps none.
func ErrorCode(err error) string {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// ErrorForCode returns the sentinel for a wire code, or nil for "internal" and
// unknown codes.
func ErrorForCode(code string) error {
	for _, c := range errorCodes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}
