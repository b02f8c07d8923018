package schemas_test

import (
	"errors"
	"fmt"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/schemas"
)

func ExampleValidator_Validate() {
	v, err := schemas.New()
	if err != nil {
		panic(err)
	}
	err = v.Validate("#PluginInfo", []byte(`{"id":"paasd.drain.syslog","contract":"logs","api_versions":[1]}`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, core.ErrSchemaViolation))
	// Output:
	// #PluginInfo: contract: invalid value "logs" (want one of "broker", "buildpack", "drain", "router", "runtime"): schema violation
	// true
}

func ExampleValidator_ValidateConfig() {
	v, err := schemas.New()
	if err != nil {
		panic(err)
	}
	schema := `url: string, timeout?: int & >0`
	fmt.Println(v.ValidateConfig(schema, []byte(`{"url":"syslog://logs.example.com","timeout":0}`)))
	// Output:
	// config: timeout: invalid value 0 (out of bound >0): invalid request
}
