package conformance

// drainDeliveryChecks returns the destination checks of the log drain suite:
// syslog over TCP and TLS (RFC 5424 messages, RFC 6587 octet-counted
// framing; capabilities "syslog" and "syslog-tls") and HTTPS
// (application/logplex-1 bodies, Logplex-Msg-Count, Logplex-Frame-Id
// de-duplication; capability "https"). Each check starts its own receiver
// on the loopback interface and points the batch URL at it.
//
// The Logplex work fills this in; until then the suite has no destination
// checks. [DrainSuite] appends whatever this returns after its own checks.
func drainDeliveryChecks(target DrainTarget) []Check {
	_ = target
	return nil
}
