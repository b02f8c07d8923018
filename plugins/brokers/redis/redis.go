// Package redis is paasd's reference Redis add-on broker: the
// "heroku-redis" service, provisioned on a Redis 7 server the operator
// points paasd at.
//
// An instance is a key prefix on the shared server, "<prefix>:<h>:", where
// <h> is derived from the instance id (a SHA-256 prefix). Each binding is an
// ACL user "<prefix>-<h>-<b>" with a random password, confined to that
// prefix:
//
//	ACL SETUSER <user> reset on ><password> ~<prefix>:<h>:* &<prefix>:<h>:*
//	    +@all -@admin -@dangerous -scan -randomkey -dbsize -select
//	    -pubsub -function -script|flush
//
// so it can read and write only keys (and publish or subscribe only to
// channels) starting with the prefix, and cannot run the commands that
// reach the whole server or reveal other instances' key names (KEYS, SCAN,
// RANDOMKEY, DBSIZE, INFO, CONFIG, FLUSHALL, FLUSHDB, SORT … BY, MONITOR,
// CLIENT LIST, PUBSUB CHANNELS, FUNCTION …). Bind returns
// {"URL": "redis://<user>:<password>@HOST:PORT", "KEY_PREFIX": "<prefix>:<h>:"}:
// apps must prefix every key and channel with REDIS_KEY_PREFIX.
//
// # Plans
//
// Redis limits nothing per user but commands, keys and channels: memory
// (maxmemory) and client connections (maxclients) are server-wide, so
// Heroku's plan limits (mini: 25 MB, 20 connections; premium-0: 50 MB, 40
// connections; premium-1: 100 MB, 80 connections) are recorded and shown,
// not enforced. Operators who need hard limits give each plan its own
// server (one broker per server) or use an OSB broker that does.
//
// # State
//
// The broker keeps each instance's record (service, plan, parameters hash)
// in a hash "<prefix>-meta:<h>" that no instance user can reach, and a lock
// "<prefix>-lock:<h>" while an operation runs. ACL users are saved with ACL
// SAVE after every change when the server has an aclfile; run the server
// with an aclfile and with persistence (RDB or AOF), or instances vanish at
// its restart.
//
// Deprovision deletes every binding user (ACL DELUSER, which also closes
// their connections), then every key of the prefix (SCAN MATCH + UNLINK),
// then the record.
package redis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/paasd/paasd/core"
)

// ID is the plugin id the broker describes itself with.
const ID = "paasd.broker.redis"

// Service identity in the catalog.
const (
	ServiceID   = "heroku-redis"
	ServiceName = "heroku-redis"
	// ConfigVarPrefix gives REDIS_URL and REDIS_KEY_PREFIX.
	ConfigVarPrefix = "REDIS"
)

// ConfigSchema is the CUE schema of the broker's configuration.
const ConfigSchema = `close({
	// admin_url is a redis:// URL of a user allowed ACL, SCAN and UNLINK on
	// every key (e.g. "+@all ~* &*").
	admin_url!: =~"^rediss?://"
	// public_host is the host apps connect to, written into binding URLs;
	// default: the admin URL's host.
	public_host?: string & !=""
	// public_port is the port apps connect to; default: the admin URL's port.
	public_port?: int & >0 & <65536
	// name_prefix starts every key prefix and user name the broker makes.
	name_prefix?: =~"^[a-z][a-z0-9]{0,15}$"
})`

// Config is the broker's configuration.
type Config struct {
	// AdminURL is a redis:// URL of an admin user. Required.
	AdminURL string `json:"admin_url"`
	// PublicHost is the host written into binding URLs; empty means the
	// admin URL's host.
	PublicHost string `json:"public_host,omitempty"`
	// PublicPort is the port written into binding URLs; zero means the
	// admin URL's port (6379 if it has none).
	PublicPort int `json:"public_port,omitempty"`
	// NamePrefix starts every key prefix and user name; empty means "paasd".
	NamePrefix string `json:"name_prefix,omitempty"`
}

// Plans are the broker's plans, the default first. Their limits are
// Heroku's, recorded but not enforced (see the package doc).
var Plans = []core.Plan{
	{ID: "heroku-redis.mini", Name: "mini", Description: "key prefix on a shared Redis (Heroku: 25 MB, 20 connections; not enforced per user)"},
	{ID: "heroku-redis.premium-0", Name: "premium-0", Description: "key prefix on a shared Redis (Heroku: 50 MB, 40 connections; not enforced per user)"},
	{ID: "heroku-redis.premium-1", Name: "premium-1", Description: "key prefix on a shared Redis (Heroku: 100 MB, 80 connections; not enforced per user)"},
}

// Parameters are the provisioning parameters the broker accepts.
type Parameters struct {
	// MaxmemoryPolicy is recorded for the instance (Heroku's
	// maxmemory_policy); the server's own policy applies.
	MaxmemoryPolicy string `json:"maxmemory_policy,omitempty"`
}

// userRules are the ACL rules of every binding user after its key and
// channel patterns.
var userRules = []string{"+@all", "-@admin", "-@dangerous", "-scan", "-randomkey", "-dbsize", "-select", "-pubsub", "-function", "-script|flush"}

// Broker provisions Redis key prefixes with confined ACL users. Configure
// it before use; after that it is safe for concurrent use.
type Broker struct {
	mu     sync.Mutex
	rdb    *goredis.Client
	host   string
	port   int
	prefix string
	// failAfter, when positive, makes Bind fail after that many of its
	// steps (tests check that nothing is left behind).
	failAfter int
}

var (
	_ core.AddonBroker   = (*Broker)(nil)
	_ core.HealthChecker = (*Broker)(nil)
)

// New returns an unconfigured Broker.
func New() *Broker { return &Broker{} }

// Describe describes the broker.
func (b *Broker) Describe(context.Context) (core.PluginInfo, error) {
	return core.PluginInfo{
		ID:           ID,
		Contract:     core.ContractBroker,
		APIVersions:  []int{1},
		Version:      "1.0.0",
		Capabilities: []string{core.BrokerCapPlanUpdate},
		ConfigSchema: ConfigSchema,
	}, nil
}

// Configure reads the config (see [Config]) and connects to the server. It
// returns an error wrapping core.ErrInvalid for a config it cannot use and
// core.ErrUnavailable when the server cannot be reached.
func (b *Broker) Configure(ctx context.Context, req core.ConfigureRequest) error {
	if req.APIVersion != 1 {
		return fmt.Errorf("broker redis: api version %d: only version 1 is spoken: %w", req.APIVersion, core.ErrUnsupported)
	}
	var cfg Config
	if err := decodeStrict(req.Config, &cfg); err != nil {
		return fmt.Errorf("broker redis: config: %w", err)
	}
	if cfg.AdminURL == "" {
		return fmt.Errorf("broker redis: config: admin_url is required: %w", core.ErrInvalid)
	}
	u, err := url.Parse(cfg.AdminURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return fmt.Errorf("broker redis: config: admin_url must be redis://USER:PASSWORD@HOST:PORT: %w", core.ErrInvalid)
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "paasd"
	}
	if !validPrefix(cfg.NamePrefix) {
		return fmt.Errorf("broker redis: config: name_prefix %q: want a lower-case letter then up to 15 of [a-z0-9]: %w", cfg.NamePrefix, core.ErrInvalid)
	}
	opts, err := goredis.ParseURL(cfg.AdminURL)
	if err != nil {
		return fmt.Errorf("broker redis: config: admin_url: %w: %w", err, core.ErrInvalid)
	}
	host, port := u.Hostname(), 6379
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	if cfg.PublicHost != "" {
		host = cfg.PublicHost
	}
	if cfg.PublicPort != 0 {
		if cfg.PublicPort < 0 || cfg.PublicPort > 65535 {
			return fmt.Errorf("broker redis: config: public_port %d out of range: %w", cfg.PublicPort, core.ErrInvalid)
		}
		port = cfg.PublicPort
	}
	opts.PoolSize = 4
	rdb := goredis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return fmt.Errorf("broker redis: connect to %s: %w: %w", u.Host, err, core.ErrUnavailable)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rdb != nil {
		_ = b.rdb.Close()
	}
	b.rdb, b.host, b.port, b.prefix = rdb, host, port, cfg.NamePrefix
	return nil
}

// Close closes the connection pool.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rdb != nil {
		err := b.rdb.Close()
		b.rdb = nil
		return err
	}
	return nil
}

// Health pings the server.
func (b *Broker) Health(ctx context.Context) error {
	rdb, err := b.client()
	if err != nil {
		return err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("broker redis: ping: %w: %w", err, core.ErrUnavailable)
	}
	return nil
}

func (b *Broker) client() (*goredis.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rdb == nil {
		return nil, fmt.Errorf("broker redis: not configured: %w", core.ErrUnavailable)
	}
	return b.rdb, nil
}

// Catalog lists the heroku-redis service.
func (b *Broker) Catalog(context.Context) (core.Catalog, error) {
	return core.Catalog{Services: []core.Service{{
		ID:              ServiceID,
		Name:            ServiceName,
		Description:     "Redis key prefixes with confined ACL users on the operator's Redis server",
		Bindable:        true,
		PlanUpdateable:  true,
		Plans:           append([]core.Plan(nil), Plans...),
		ConfigVarPrefix: ConfigVarPrefix,
	}}}, nil
}

// hash returns an instance's short hash.
func hash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// KeyPrefix returns the key prefix of an instance.
func (b *Broker) KeyPrefix(instanceID string) string {
	return b.prefix + ":" + hash(instanceID, 20) + ":"
}

func (b *Broker) metaKey(instanceID string) string {
	return b.prefix + "-meta:" + hash(instanceID, 20)
}

func (b *Broker) lockKey(instanceID string) string {
	return b.prefix + "-lock:" + hash(instanceID, 20)
}

// userPrefix starts the user names of an instance's bindings.
func (b *Broker) userPrefix(instanceID string) string {
	return b.prefix + "-" + hash(instanceID, 20) + "-"
}

func (b *Broker) userName(instanceID, bindingID string) string {
	return b.userPrefix(instanceID) + hash(bindingID, 12)
}

// record is an instance's stored record.
type record struct {
	InstanceID   string `redis:"instance_id"`
	ServiceID    string `redis:"service_id"`
	PlanID       string `redis:"plan_id"`
	ParamsSHA256 string `redis:"params_sha256"`
}

func (b *Broker) read(ctx context.Context, rdb *goredis.Client, instanceID string) (record, bool, error) {
	var r record
	res := rdb.HGetAll(ctx, b.metaKey(instanceID))
	if err := res.Err(); err != nil {
		return r, false, fmt.Errorf("read instance record: %w: %w", err, core.ErrUnavailable)
	}
	if len(res.Val()) == 0 {
		return r, false, nil
	}
	if err := res.Scan(&r); err != nil {
		return r, false, fmt.Errorf("read instance record: %w", err)
	}
	return r, true, nil
}

// Provision records the instance; its keys and users come with bindings.
// It is idempotent on the instance id; a different plan or parameters give
// core.ErrConflict, an unknown service or plan core.ErrInvalid, another
// operation on the instance core.ErrConcurrency.
func (b *Broker) Provision(ctx context.Context, req core.ProvisionRequest) (core.OperationResponse, error) {
	rdb, err := b.client()
	if err != nil {
		return core.OperationResponse{}, err
	}
	if err := checkPlan(req.ServiceID, req.PlanID); err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker redis: provision %s: %w", req.InstanceID, err)
	}
	phash, err := paramsHash(req.Parameters)
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker redis: provision %s: %w", req.InstanceID, err)
	}
	want := record{InstanceID: req.InstanceID, ServiceID: req.ServiceID, PlanID: req.PlanID, ParamsSHA256: phash}
	var resp core.OperationResponse
	err = b.locked(ctx, rdb, req.InstanceID, func() error {
		have, found, err := b.read(ctx, rdb, req.InstanceID)
		if err != nil {
			return err
		}
		if found {
			if have == want {
				resp.AlreadyExists = true
				return nil
			}
			return fmt.Errorf("instance %s exists with plan %s and other parameters than asked: %w", req.InstanceID, have.PlanID, core.ErrConflict)
		}
		if err := rdb.HSet(ctx, b.metaKey(req.InstanceID), want).Err(); err != nil {
			return fmt.Errorf("record instance: %w: %w", err, core.ErrUnavailable)
		}
		return nil
	})
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker redis: provision %s: %w", req.InstanceID, err)
	}
	if !resp.AlreadyExists {
		resp.Message = "Redis instance is available; prefix every key with REDIS_KEY_PREFIX"
	}
	return resp, nil
}

// Update changes the instance's recorded plan.
func (b *Broker) Update(ctx context.Context, req core.UpdateRequest) (core.OperationResponse, error) {
	rdb, err := b.client()
	if err != nil {
		return core.OperationResponse{}, err
	}
	if err := checkPlan(req.ServiceID, req.PlanID); err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker redis: update %s: %w", req.InstanceID, err)
	}
	err = b.locked(ctx, rdb, req.InstanceID, func() error {
		have, found, err := b.read(ctx, rdb, req.InstanceID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("instance %s: %w", req.InstanceID, core.ErrNotFound)
		}
		have.PlanID = req.PlanID
		if len(req.Parameters) > 0 {
			if have.ParamsSHA256, err = paramsHash(req.Parameters); err != nil {
				return err
			}
		}
		return rdb.HSet(ctx, b.metaKey(req.InstanceID), have).Err()
	})
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker redis: update %s: %w", req.InstanceID, err)
	}
	return core.OperationResponse{}, nil
}

// Deprovision deletes the instance's users, keys and record. An unknown
// instance gives core.ErrGone.
func (b *Broker) Deprovision(ctx context.Context, req core.DeprovisionRequest) (core.OperationResponse, error) {
	rdb, err := b.client()
	if err != nil {
		return core.OperationResponse{}, err
	}
	err = b.locked(ctx, rdb, req.InstanceID, func() error {
		_, found, err := b.read(ctx, rdb, req.InstanceID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("instance %s: %w", req.InstanceID, core.ErrGone)
		}
		users, err := b.users(ctx, rdb, req.InstanceID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			args := []any{"ACL", "DELUSER"}
			for _, u := range users {
				args = append(args, u)
			}
			if err := rdb.Do(ctx, args...).Err(); err != nil {
				return fmt.Errorf("delete users: %w", err)
			}
			if err := aclSave(ctx, rdb); err != nil {
				return err
			}
		}
		if err := unlinkPrefix(ctx, rdb, b.KeyPrefix(req.InstanceID)); err != nil {
			return err
		}
		return rdb.Del(ctx, b.metaKey(req.InstanceID)).Err()
	})
	if err != nil {
		return core.OperationResponse{}, fmt.Errorf("broker redis: deprovision %s: %w", req.InstanceID, err)
	}
	return core.OperationResponse{}, nil
}

// users lists the ACL users of an instance's bindings.
func (b *Broker) users(ctx context.Context, rdb *goredis.Client, instanceID string) ([]string, error) {
	all, err := rdb.Do(ctx, "ACL", "USERS").StringSlice()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	p := b.userPrefix(instanceID)
	var out []string
	for _, u := range all {
		if strings.HasPrefix(u, p) {
			out = append(out, u)
		}
	}
	return out, nil
}

// unlinkPrefix deletes every key starting with prefix, which holds no glob
// characters.
func unlinkPrefix(ctx context.Context, rdb *goredis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			return fmt.Errorf("scan %s*: %w", prefix, err)
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("unlink %d keys of %s*: %w", len(keys), prefix, err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// aclSave persists the ACL when the server has an aclfile.
func aclSave(ctx context.Context, rdb *goredis.Client) error {
	err := rdb.Do(ctx, "ACL", "SAVE").Err()
	if err != nil && strings.Contains(err.Error(), "ACL file") {
		return nil // the server keeps users in its config only
	}
	if err != nil {
		return fmt.Errorf("ACL SAVE: %w", err)
	}
	return nil
}

// LastOperation reports every operation as succeeded: the broker is
// synchronous. An unknown instance gives core.ErrNotFound.
func (b *Broker) LastOperation(ctx context.Context, req core.LastOperationRequest) (core.LastOperation, error) {
	rdb, err := b.client()
	if err != nil {
		return core.LastOperation{}, err
	}
	_, found, err := b.read(ctx, rdb, req.InstanceID)
	if err != nil {
		return core.LastOperation{}, fmt.Errorf("broker redis: last operation of %s: %w", req.InstanceID, err)
	}
	if !found {
		return core.LastOperation{}, fmt.Errorf("broker redis: instance %s: %w", req.InstanceID, core.ErrNotFound)
	}
	return core.LastOperation{State: core.OpSucceeded}, nil
}

// Bind creates (or, for a known binding id, re-keys) the binding's ACL user
// and returns {"URL": "redis://…", "KEY_PREFIX": "…"}. An unknown instance
// gives core.ErrNotFound.
func (b *Broker) Bind(ctx context.Context, req core.BindRequest) (core.BindResponse, error) {
	rdb, err := b.client()
	if err != nil {
		return core.BindResponse{}, err
	}
	if req.BindingID == "" {
		return core.BindResponse{}, fmt.Errorf("broker redis: bind %s: empty binding id: %w", req.InstanceID, core.ErrInvalid)
	}
	user := b.userName(req.InstanceID, req.BindingID)
	prefix := b.KeyPrefix(req.InstanceID)
	pw := rand.Text()
	err = b.locked(ctx, rdb, req.InstanceID, func() error {
		have, found, err := b.read(ctx, rdb, req.InstanceID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("instance %s: %w", req.InstanceID, core.ErrNotFound)
		}
		if req.ServiceID != "" && have.ServiceID != req.ServiceID {
			return fmt.Errorf("instance %s belongs to service %s, not %s: %w", req.InstanceID, have.ServiceID, req.ServiceID, core.ErrInvalid)
		}
		args := []any{"ACL", "SETUSER", user, "reset", "on", ">" + pw, "~" + prefix + "*", "&" + prefix + "*"}
		for _, r := range userRules {
			args = append(args, r)
		}
		if err := rdb.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if b.failAfter > 0 {
			err = errors.New("injected failure")
		}
		if err == nil {
			err = aclSave(ctx, rdb)
		}
		if err != nil {
			_ = rdb.ACLDelUser(context.WithoutCancel(ctx), user).Err()
			return err
		}
		return nil
	})
	if err != nil {
		return core.BindResponse{}, fmt.Errorf("broker redis: bind %s to %s: %w", req.BindingID, req.InstanceID, err)
	}
	u := url.URL{Scheme: "redis", User: url.UserPassword(user, pw), Host: net.JoinHostPort(b.host, strconv.Itoa(b.port))}
	return core.BindResponse{Config: map[string]string{"URL": u.String(), "KEY_PREFIX": prefix}}, nil
}

// Unbind deletes the binding's ACL user, closing its connections; the
// instance's keys stay. An unknown binding gives core.ErrGone.
func (b *Broker) Unbind(ctx context.Context, req core.UnbindRequest) error {
	rdb, err := b.client()
	if err != nil {
		return err
	}
	user := b.userName(req.InstanceID, req.BindingID)
	err = b.locked(ctx, rdb, req.InstanceID, func() error {
		n, err := rdb.ACLDelUser(ctx, user).Result()
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("binding %s of instance %s: %w", req.BindingID, req.InstanceID, core.ErrGone)
		}
		return aclSave(ctx, rdb)
	})
	if err != nil {
		return fmt.Errorf("broker redis: unbind %s from %s: %w", req.BindingID, req.InstanceID, err)
	}
	return nil
}

// lockTTL bounds how long a crashed broker's lock blocks an instance.
const lockTTL = 2 * time.Minute

// unlockScript deletes the lock only when it still holds our token.
var unlockScript = goredis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// locked runs fn holding the instance's lock; when another operation holds
// it, it returns core.ErrConcurrency.
func (b *Broker) locked(ctx context.Context, rdb *goredis.Client, instanceID string, fn func() error) error {
	key, token := b.lockKey(instanceID), rand.Text()
	ok, err := rdb.SetNX(ctx, key, token, lockTTL).Result()
	if err != nil {
		return fmt.Errorf("lock instance: %w: %w", err, core.ErrUnavailable)
	}
	if !ok {
		return fmt.Errorf("instance %s: another operation is in progress: %w", instanceID, core.ErrConcurrency)
	}
	defer func() { _ = unlockScript.Run(context.WithoutCancel(ctx), rdb, []string{key}, token).Err() }()
	return fn()
}

func checkPlan(serviceID, planID string) error {
	if serviceID != ServiceID {
		return fmt.Errorf("unknown service %q (this broker offers %q): %w", serviceID, ServiceID, core.ErrInvalid)
	}
	for _, p := range Plans {
		if p.ID == planID {
			return nil
		}
	}
	return fmt.Errorf("unknown plan %q of %s: %w", planID, ServiceID, core.ErrInvalid)
}

// maxmemoryPolicies are Redis's eviction policies.
var maxmemoryPolicies = []string{"noeviction", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "allkeys-random", "volatile-random", "volatile-ttl"}

// paramsHash validates parameters and returns the SHA-256 of their
// canonical form.
func paramsHash(raw json.RawMessage) (string, error) {
	var p Parameters
	if len(raw) > 0 && string(raw) != "null" {
		if err := decodeStrict(raw, &p); err != nil {
			return "", fmt.Errorf("parameters: %w", err)
		}
	}
	if p.MaxmemoryPolicy != "" {
		ok := false
		for _, m := range maxmemoryPolicies {
			ok = ok || m == p.MaxmemoryPolicy
		}
		if !ok {
			return "", fmt.Errorf("parameters: maxmemory_policy %q: want one of %s: %w", p.MaxmemoryPolicy, strings.Join(maxmemoryPolicies, ", "), core.ErrInvalid)
		}
	}
	canon, _ := json.Marshal(p)
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// decodeStrict decodes a JSON object into v, rejecting unknown fields.
// Errors wrap core.ErrInvalid.
func decodeStrict(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", err, core.ErrInvalid)
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object: %w", core.ErrInvalid)
	}
	return nil
}

func validPrefix(p string) bool {
	if p == "" || len(p) > 16 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
