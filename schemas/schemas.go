// Package schemas holds paasd's CUE definitions — the five contracts' messages,
// the app model and the paasd configuration file — and a [Validator] that
// checks JSON against them.
//
// The definition for the response of method M of contract C is
// "#<C><M>Response" (e.g. "#DrainDeliverResponse"), requests are
// "#<C><M>Request", and Describe answers "#PluginInfo"; see [Definitions] for
// the full list and docs/schemas.md for the rules.
//
// # Notes
//
// Validation costs a few hundred microseconds to a millisecond per message,
// 25–100 times a plain json.Unmarshal (see bench/schemas.md), so
// the core validates at control-plane boundaries — plugin describe and
// configure, plugin responses, release creation, config load — never per
// HTTP request or per log line.
//
// A cue.Context is not safe for concurrent use and grows with every value
// built in it, so a Validator guards its context with a mutex and replaces it
// with a fresh one after a fixed number of validations.
package schemas

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/pluginhost"
)

//go:embed *.cue
var files embed.FS

// Files returns the embedded CUE sources, by file name.
func Files() fs.FS { return files }

// recycleAfter is how many validations a cue.Context serves before the
// Validator replaces it (a context keeps every value built in it).
const recycleAfter = 2000

// maxConfigSchemas bounds the cache of compiled plugin config schemas.
const maxConfigSchemas = 64

// Validator checks JSON documents against the embedded CUE definitions and
// plugin config schemas. It is safe for concurrent use.
type Validator struct {
	names []string // sorted definition names, immutable after New

	mu      sync.Mutex
	ctx     *cue.Context
	root    cue.Value
	defs    map[string]cue.Value // compiled definitions, per ctx
	configs map[string]cue.Value // compiled config schemas by source, per ctx
	uses    int
	// recycle is how many validations a context serves; recycleAfter unless
	// a test lowers it.
	recycle int
	// generation counts context replacements (for tests).
	generation int

	// memo remembers documents that already passed, so repetitive plugin
	// answers ({"accepted":100} for every drain batch) cost a map lookup,
	// not a CUE evaluation. Keys are the definition and the exact bytes;
	// only documents up to memoMaxBytes are kept, and the map is dropped
	// when it holds memoMaxEntries.
	memoMu sync.Mutex
	memo   map[string]struct{}
}

// Memo bounds: at most memoMaxEntries × memoMaxBytes (8 MiB) of keys.
const (
	memoMaxEntries = 4096
	memoMaxBytes   = 2048
)

var _ pluginhost.ConfigValidator = (*Validator)(nil)

// New compiles the embedded schemas. It fails only if they do not compile.
func New() (*Validator, error) {
	v := &Validator{recycle: recycleAfter}
	if err := v.reset(); err != nil {
		return nil, err
	}
	iter, err := v.root.Fields(cue.Definitions(true))
	if err != nil {
		return nil, fmt.Errorf("schemas: list definitions: %w", err)
	}
	for iter.Next() {
		if sel := iter.Selector(); sel.IsDefinition() {
			v.names = append(v.names, sel.String())
		}
	}
	slices.Sort(v.names)
	return v, nil
}

// reset builds a fresh context and compiles the package in it. Callers hold
// v.mu (or own v exclusively).
func (v *Validator) reset() error {
	ctx := cuecontext.New()
	inst := build.NewContext().NewInstance("", nil)
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return fmt.Errorf("schemas: read embedded files: %w", err)
	}
	for _, e := range entries {
		src, err := fs.ReadFile(files, e.Name())
		if err != nil {
			return fmt.Errorf("schemas: read %s: %w", e.Name(), err)
		}
		f, err := parser.ParseFile(e.Name(), src)
		if err != nil {
			return fmt.Errorf("schemas: parse %s: %w", e.Name(), err)
		}
		if err := inst.AddSyntax(f); err != nil {
			return fmt.Errorf("schemas: parse %s: %w", e.Name(), err)
		}
	}
	root := ctx.BuildInstance(inst)
	if err := root.Err(); err != nil {
		return fmt.Errorf("schemas: compile: %s", describe(err))
	}
	v.ctx, v.root, v.uses = ctx, root, 0
	v.defs = map[string]cue.Value{}
	v.configs = map[string]cue.Value{}
	return nil
}

// Definitions returns the names of every definition, sorted ("#AppJSON",
// "#DrainDeliverResponse", …).
func (v *Validator) Definitions() []string { return slices.Clone(v.names) }

// Validate checks data, a JSON document, against the definition def (e.g.
// "#PluginInfo"). A document that breaks it gives an error wrapping
// core.ErrSchemaViolation whose message names the definition, the field path
// and the rule, e.g. `#DrainBatch: messages.3.priority: invalid value 500
// (out of bound <=191)`. An unknown definition gives an error wrapping
// core.ErrNotFound.
func (v *Validator) Validate(def string, data []byte) (err error) {
	if !strings.HasPrefix(def, "#") {
		def = "#" + def
	}
	if _, ok := slices.BinarySearch(v.names, def); !ok {
		return fmt.Errorf("schemas: unknown definition %q: %w", def, core.ErrNotFound)
	}
	var key string
	if len(data) <= memoMaxBytes {
		key = def + "\x00" + string(data)
		v.memoMu.Lock()
		_, seen := v.memo[key]
		v.memoMu.Unlock()
		if seen {
			return nil
		}
		defer func() {
			if err == nil {
				v.remember(key)
			}
		}()
	}
	if err := checkJSON(data); err != nil {
		return &ViolationError{Definition: def, Detail: err.Error()}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	defer v.recoverInto(&err, func(msg string) error { return &ViolationError{Definition: def, Detail: msg} })
	if err := v.tick(); err != nil {
		return err
	}
	schema, ok := v.defs[def]
	if !ok {
		schema = v.root.LookupPath(cue.ParsePath(def))
		v.defs[def] = schema
	}
	if msg := v.unify(schema, data); msg != "" {
		return &ViolationError{Definition: def, Detail: msg}
	}
	return nil
}

// remember records a document that passed validation.
func (v *Validator) remember(key string) {
	v.memoMu.Lock()
	defer v.memoMu.Unlock()
	if v.memo == nil || len(v.memo) >= memoMaxEntries {
		v.memo = make(map[string]struct{}, 256)
	}
	v.memo[key] = struct{}{}
}

// Complete validates data against def like [Validator.Validate] and returns
// it as JSON with every default of the definition filled in: for "#Config",
// a configuration file with the documented defaults applied.
func (v *Validator) Complete(def string, data []byte) ([]byte, error) {
	if err := v.Validate(def, data); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(def, "#") {
		def = "#" + def
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.tick(); err != nil {
		return nil, err
	}
	schema, ok := v.defs[def]
	if !ok {
		schema = v.root.LookupPath(cue.ParsePath(def))
		v.defs[def] = schema
	}
	expr, err := cuejson.Extract("data", data)
	if err != nil {
		return nil, &ViolationError{Definition: def, Detail: describe(err)}
	}
	dropNullFields(expr)
	out, err := schema.Unify(v.ctx.BuildExpr(expr)).MarshalJSON()
	if err != nil {
		return nil, &ViolationError{Definition: def, Detail: describe(err)}
	}
	return out, nil
}

// ViolationError is the error Validate returns for a document that breaks
// its definition. It unwraps to core.ErrSchemaViolation.
type ViolationError struct {
	// Definition is the definition checked, e.g. "#PluginInfo".
	Definition string
	// Detail names the field path and the rule, e.g.
	// "messages.3.priority: invalid value 500 (out of bound <=191)".
	Detail string
}

func (e *ViolationError) Error() string {
	return e.Definition + ": " + e.Detail + ": " + core.ErrSchemaViolation.Error()
}

// Unwrap returns core.ErrSchemaViolation.
func (e *ViolationError) Unwrap() error { return core.ErrSchemaViolation }

// ValidateConfig checks cfg, a plugin's JSON configuration, against
// schemaSrc, the CUE source the plugin declared as its config schema. The
// source is either a struct of fields (`url: string, timeout?: int`, braces
// optional) or defines "#Config"; either way unknown fields are rejected. A
// config that breaks the schema gives an error wrapping core.ErrInvalid naming
// the field; a schema that does not compile gives one wrapping
// core.ErrSchemaViolation (the plugin's fault).
func (v *Validator) ValidateConfig(schemaSrc string, cfg []byte) (err error) {
	if err := checkJSON(cfg); err != nil {
		return fmt.Errorf("config: %w: %w", err, core.ErrInvalid)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	defer v.recoverInto(&err, func(msg string) error {
		return fmt.Errorf("config schema: %s: %w", msg, core.ErrSchemaViolation)
	})
	if err := v.tick(); err != nil {
		return err
	}
	schema, ok := v.configs[schemaSrc]
	if !ok {
		var err error
		schema, err = v.compileConfigSchema(schemaSrc)
		if err != nil {
			return err
		}
		if len(v.configs) >= maxConfigSchemas {
			clear(v.configs)
		}
		v.configs[schemaSrc] = schema
	}
	if msg := v.unify(schema, cfg); msg != "" {
		return fmt.Errorf("config: %s: %w", msg, core.ErrInvalid)
	}
	return nil
}

// compileConfigSchema turns a plugin's schema source into a closed definition.
func (v *Validator) compileConfigSchema(src string) (cue.Value, error) {
	f, err := parser.ParseFile("config_schema.cue", src)
	if err != nil {
		return cue.Value{}, fmt.Errorf("config schema does not parse: %s: %w", describe(err), core.ErrSchemaViolation)
	}
	var head, body []ast.Decl
	hasConfig := false
	for _, d := range f.Decls {
		switch x := d.(type) {
		case *ast.Package, *ast.ImportDecl, *ast.CommentGroup, *ast.Attribute:
			head = append(head, d)
		case *ast.Field:
			if name, _, _ := ast.LabelName(x.Label); name == "#Config" {
				hasConfig = true
			}
			body = append(body, d)
		case *ast.EmbedDecl:
			if s, ok := x.Expr.(*ast.StructLit); ok {
				body = append(body, s.Elts...)
				continue
			}
			body = append(body, d)
		default:
			body = append(body, d)
		}
	}
	if !hasConfig {
		f.Decls = append(head, &ast.Field{Label: ast.NewIdent("#Config"), Value: &ast.StructLit{Elts: body}})
	}
	root := v.ctx.BuildFile(f)
	if err := root.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("config schema does not compile: %s: %w", describe(err), core.ErrSchemaViolation)
	}
	schema := root.LookupPath(cue.ParsePath("#Config"))
	if err := schema.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("config schema: %s: %w", describe(err), core.ErrSchemaViolation)
	}
	return schema, nil
}

// recoverInto turns a panic inside the CUE evaluator (on plugin-supplied
// input) into an error built by wrap, and replaces the context, whose state
// is then unknown. Callers hold v.mu.
func (v *Validator) recoverInto(err *error, wrap func(string) error) {
	r := recover()
	if r == nil {
		return
	}
	*err = wrap(fmt.Sprintf("evaluation failed: %v", r))
	if rerr := v.reset(); rerr != nil {
		*err = errors.Join(*err, rerr)
	}
}

// tick counts a use and recycles the context when it has served enough.
func (v *Validator) tick() error {
	v.uses++
	if v.uses <= v.recycle {
		return nil
	}
	if err := v.reset(); err != nil {
		return err
	}
	v.uses = 1
	v.generation++
	return nil
}

// unify checks data against schema and returns "" or the error description.
// data is known to be valid JSON.
func (v *Validator) unify(schema cue.Value, data []byte) string {
	expr, err := cuejson.Extract("data", data)
	if err != nil {
		return describe(err)
	}
	dropNullFields(expr)
	val := schema.Unify(v.ctx.BuildExpr(expr))
	if err := val.Validate(cue.Concrete(true)); err != nil {
		return describe(err)
	}
	return ""
}

// dropNullFields removes every object field whose value is null, at any
// depth: a null field counts as absent, as it does for Go's decoder (a nil
// slice or map encodes as null). List elements that are null are kept.
func dropNullFields(x ast.Expr) {
	switch x := x.(type) {
	case *ast.StructLit:
		kept := x.Elts[:0]
		for _, d := range x.Elts {
			if f, ok := d.(*ast.Field); ok {
				if lit, ok := f.Value.(*ast.BasicLit); ok && lit.Kind == token.NULL {
					continue
				}
				dropNullFields(f.Value)
			}
			kept = append(kept, d)
		}
		x.Elts = kept
	case *ast.ListLit:
		for _, e := range x.Elts {
			dropNullFields(e)
		}
	}
}

// checkJSON reports whether data is one valid JSON document, with the
// decoder's own explanation when it is not.
func checkJSON(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var x any
	if err := json.Unmarshal(data, &x); err != nil {
		return fmt.Errorf("not valid JSON: %s", err.Error())
	}
	return errors.New("not valid JSON")
}

// describe renders a CUE error as "path: message", choosing the most specific
// of the errors CUE reports: the deepest path, a bound or type error before a
// clash with a default, and for a value matching none of an enumeration's
// alternatives, one message listing them.
func describe(err error) string {
	all := cueerrors.Errors(err)
	if len(all) == 0 {
		return err.Error()
	}
	type item struct {
		path     []string
		format   string
		args     []any
		conflict bool
	}
	var items []item
	depth := -1
	for _, e := range all {
		format, args := e.Msg()
		if strings.Contains(format, "errors in empty disjunction") ||
			(strings.HasPrefix(format, "invalid left-hand value") && len(all) > 1) {
			continue
		}
		p := e.Path()
		if len(p) > 0 && strings.HasPrefix(p[0], "#") {
			p = p[1:]
		}
		it := item{path: p, format: format, args: args, conflict: format == "conflicting values %s and %s"}
		if strings.Contains(format, "mismatched types") && len(args) == 4 {
			if isNullMismatch(args) && len(all) > 1 {
				continue
			}
			if len(fmt.Sprint(args[0])) > 60 || len(fmt.Sprint(args[1])) > 60 {
				it.format, it.args = "mismatched types %s and %s", args[2:]
			}
		}
		if strings.HasPrefix(format, "incomplete value") {
			it.format = "missing required field: " + format
		}
		items = append(items, it)
		depth = max(depth, len(p))
	}
	if len(items) == 0 {
		return err.Error()
	}
	var deepest []item
	for _, it := range items {
		if len(it.path) == depth {
			deepest = append(deepest, it)
		}
	}
	// Prefer a specific rule (a bound, a pattern, a type) over a clash with
	// one alternative of a disjunction.
	for _, it := range deepest {
		if !it.conflict {
			return pathPrefix(it.path) + fmt.Sprintf(it.format, it.args...)
		}
	}
	prefix := pathPrefix(deepest[0].path)
	if len(deepest) == 1 {
		return prefix + fmt.Sprintf(deepest[0].format, deepest[0].args...)
	}
	// Every alternative clashed: the value common to all clashes is the
	// input, the others are what was wanted.
	count := map[string]int{}
	var order []string
	for _, it := range deepest {
		for _, a := range it.args {
			s := fmt.Sprint(a)
			if count[s] == 0 {
				order = append(order, s)
			}
			count[s]++
		}
	}
	got, wants := "", []string{}
	for _, s := range order {
		if count[s] == len(deepest) && got == "" {
			got = s
			continue
		}
		wants = append(wants, s)
	}
	if got == "" {
		return prefix + fmt.Sprintf(deepest[0].format, deepest[0].args...)
	}
	return prefix + fmt.Sprintf("invalid value %s (want one of %s)", got, strings.Join(wants, ", "))
}

// pathPrefix renders a field path as "a.b.3: ", or "" for the root.
func pathPrefix(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return strings.Join(p, ".") + ": "
}

// isNullMismatch reports whether a type clash is with null (the null branch
// of a "list or null" disjunction), which is never the interesting error.
func isNullMismatch(args []any) bool {
	return fmt.Sprint(args[2]) == "null" || fmt.Sprint(args[3]) == "null"
}
