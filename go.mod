module github.com/paasd/paasd

go 1.26

require (
	github.com/http-wasm/http-wasm-host-go v0.7.0
	github.com/tetratelabs/wazero v1.12.0
)

require golang.org/x/sys v0.44.0 // indirect
