package testenv

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// ServicesEnvFile is where scripts/setup.d/20-postgres-redis.sh writes the
// admin URLs of the loopback PostgreSQL and Redis it started, as
// NAME=VALUE lines.
const ServicesEnvFile = "/etc/paasd/test-services.env"

// Postgres returns the admin URL of a PostgreSQL server for end-to-end
// tests: $PAASD_TEST_POSTGRES_URL, else the value in [ServicesEnvFile]. It
// skips t (fails under CI) when there is none or nothing listens at its
// address. The role needs CREATEDB, CREATEROLE and pg_signal_backend.
func Postgres(t testing.TB) string {
	t.Helper()
	return service(t, "PAASD_TEST_POSTGRES_URL", "PostgreSQL")
}

// Redis returns the admin URL of a Redis 7 server for end-to-end tests:
// $PAASD_TEST_REDIS_URL, else the value in [ServicesEnvFile]. It skips t
// (fails under CI) when there is none or nothing listens at its address.
func Redis(t testing.TB) string {
	t.Helper()
	return service(t, "PAASD_TEST_REDIS_URL", "Redis")
}

func service(t testing.TB, name, what string) string {
	t.Helper()
	u := os.Getenv(name)
	if u == "" {
		u = fromEnvFile(name)
	}
	if u == "" {
		Missing(t, what+": set "+name+" or run scripts/setup.d/20-postgres-redis.sh as root")
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		t.Fatalf("%s=%q is not a URL with a host", name, u)
	}
	host := p.Host
	if p.Port() == "" {
		port := "5432"
		if p.Scheme == "redis" || p.Scheme == "rediss" {
			port = "6379"
		}
		host = net.JoinHostPort(p.Hostname(), port)
	}
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		Missing(t, what+" is not running at "+host+" ("+name+"): "+err.Error())
		return ""
	}
	_ = c.Close()
	return u
}

// fromEnvFile returns name's value in ServicesEnvFile, or "".
func fromEnvFile(name string) string {
	f, err := os.Open(ServicesEnvFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}
