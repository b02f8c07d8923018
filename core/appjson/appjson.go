// Package appjson reads app.json, Heroku's app manifest: name, description,
// scripts (postdeploy), env vars with descriptions, defaults, required flags
// and generators, formation, add-ons, buildpacks and stack.
//
// A manifest is decoded as strict JSON and validated against the #AppJSON CUE
// definition (package schemas) before it is decoded into [AppJSON]; errors
// wrap core.ErrInvalid and name the field, e.g.
// `app.json: formation.web.quantity: invalid value -1 (out of bound >=0)`.
package appjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/schemas"
)

// MaxSize is the largest app.json accepted, in bytes.
const MaxSize = 1 << 20

// AppJSON is a decoded app.json manifest.
type AppJSON struct {
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
	Website     string   `json:"website,omitempty"`
	Repository  string   `json:"repository,omitempty"`
	Logo        string   `json:"logo,omitempty"`
	SuccessURL  string   `json:"success_url,omitempty"`
	Scripts     Scripts  `json:"scripts,omitempty"`
	// Env maps config var names to their declaration.
	Env map[string]EnvVar `json:"env,omitempty"`
	// Formation maps process types to their initial scale.
	Formation  map[string]Formation `json:"formation,omitempty"`
	Image      string               `json:"image,omitempty"`
	Addons     []Addon              `json:"addons,omitempty"`
	Buildpacks []Buildpack          `json:"buildpacks,omitempty"`
	// Environments holds per-environment overrides ("test", "review"), raw.
	Environments map[string]json.RawMessage `json:"environments,omitempty"`
	Stack        string                     `json:"stack,omitempty"`
}

// Scripts are the app's lifecycle scripts.
type Scripts struct {
	// Postdeploy runs once, after the app's first deploy.
	Postdeploy *Script `json:"postdeploy,omitempty"`
	// PRPredestroy runs before a review app is destroyed.
	PRPredestroy *Script `json:"pr-predestroy,omitempty"`
}

// Script is a command and the dyno size it runs on ("" for the default).
// In app.json it is a string or {"command", "size"}.
type Script struct {
	Command string `json:"command"`
	Size    string `json:"size,omitempty"`
}

// UnmarshalJSON accepts both forms.
func (s *Script) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		*s = Script{}
		return json.Unmarshal(b, &s.Command)
	}
	type plain Script
	return json.Unmarshal(b, (*plain)(s))
}

// EnvVar declares one config var. In app.json it is a string (the value) or
// an object.
type EnvVar struct {
	Description string `json:"description,omitempty"`
	// Value is the default value.
	Value string `json:"value,omitempty"`
	// Required is true unless the manifest says false (Heroku's default).
	Required bool `json:"required"`
	// Generator is "secret" for a generated random value, or "".
	Generator string `json:"generator,omitempty"`
}

// UnmarshalJSON accepts both forms; required defaults to true.
func (e *EnvVar) UnmarshalJSON(b []byte) error {
	*e = EnvVar{Required: true}
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		return json.Unmarshal(b, &e.Value)
	}
	type plain EnvVar
	return json.Unmarshal(b, (*plain)(e))
}

// Formation is one process type's initial scale.
type Formation struct {
	Quantity int    `json:"quantity"`
	Size     string `json:"size,omitempty"`
}

// Addon is an add-on plan to provision; in app.json a string or
// {"plan", "as", "options"}.
type Addon struct {
	Plan    string          `json:"plan"`
	As      string          `json:"as,omitempty"`
	Options json.RawMessage `json:"options,omitempty"`
}

// UnmarshalJSON accepts both forms.
func (a *Addon) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		*a = Addon{}
		return json.Unmarshal(b, &a.Plan)
	}
	type plain Addon
	return json.Unmarshal(b, (*plain)(a))
}

// Buildpack is one buildpack of the app's chain.
type Buildpack struct {
	URL string `json:"url"`
}

// Parse reads, validates and decodes an app.json manifest with v.
func Parse(r io.Reader, v *schemas.Validator) (*AppJSON, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("app.json: read: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("app.json: larger than %d bytes: %w", MaxSize, core.ErrInvalid)
	}
	if err := syntax(data); err != nil {
		return nil, err
	}
	if err := v.Validate("#AppJSON", data); err != nil {
		var ve *schemas.ViolationError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("app.json: %s: %w", ve.Detail, core.ErrInvalid)
		}
		return nil, fmt.Errorf("app.json: %w", err)
	}
	var out AppJSON
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("app.json: %s: %w", err.Error(), core.ErrInvalid)
	}
	return &out, nil
}

// syntax reports a JSON syntax error with its line and column.
func syntax(data []byte) error {
	var x any
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&x)
	if err == nil {
		if _, ok := x.(map[string]any); !ok {
			return fmt.Errorf("app.json: want a JSON object: %w", core.ErrInvalid)
		}
		if dec.More() {
			return fmt.Errorf("app.json: trailing data after the JSON object: %w", core.ErrInvalid)
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Errorf("app.json: line %d, column %d: %s: %w", line, col, se.Error(), core.ErrInvalid)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("app.json: unexpected end of input: %w", core.ErrInvalid)
	}
	return fmt.Errorf("app.json: %s: %w", err.Error(), core.ErrInvalid)
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
