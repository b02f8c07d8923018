package buildpacks

import (
	"reflect"
	"testing"

	"github.com/paasd/paasd/cmd/paas/internal/golden"
)

func TestOps(t *testing.T) {
	two := []string{"heroku/nodejs", "heroku/go"}
	tests := []struct {
		desc    string
		op      Op
		list    []string
		url     string
		index   int
		want    []string
		wantErr bool
	}{
		{"set on empty", Set, nil, "heroku/go", 0, []string{"heroku/go"}, false},
		{"set replaces the first", Set, two, "heroku/ruby", 0, []string{"heroku/ruby", "heroku/go"}, false},
		{"set at index", Set, two, "heroku/ruby", 2, []string{"heroku/nodejs", "heroku/ruby"}, false},
		{"set one past the end appends", Set, two, "heroku/ruby", 3, []string{"heroku/nodejs", "heroku/go", "heroku/ruby"}, false},
		{"set out of range", Set, two, "heroku/ruby", 5, nil, true},
		{"set a duplicate elsewhere", Set, two, "heroku/go", 1, nil, true},
		{"add appends", Add, two, "heroku/ruby", 0, []string{"heroku/nodejs", "heroku/go", "heroku/ruby"}, false},
		{"add at index 1", Add, two, "heroku/ruby", 1, []string{"heroku/ruby", "heroku/nodejs", "heroku/go"}, false},
		{"add a duplicate", Add, two, "heroku/go", 0, nil, true},
		{"remove by url", Remove, two, "heroku/nodejs", 0, []string{"heroku/go"}, false},
		{"remove by index", Remove, two, "", 2, []string{"heroku/nodejs"}, false},
		{"remove both given", Remove, two, "heroku/go", 1, nil, true},
		{"remove unknown", Remove, two, "heroku/php", 0, nil, true},
		{"remove neither", Remove, two, "", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := tt.op(tt.list, tt.url, tt.index)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if len(tt.list) == 2 && tt.list[0] != "heroku/nodejs" {
				t.Fatal("the input list was modified")
			}
		})
	}
}

func TestFormat(t *testing.T) {
	golden.Check(t, "buildpacks",
		FormatList("myapp", nil)+FormatList("myapp", []string{"heroku/go"})+FormatList("myapp", []string{"heroku/nodejs", "heroku/go"})+
			FormatChange("myapp", "set", []string{"heroku/go"})+FormatChange("myapp", "added", []string{"heroku/nodejs", "heroku/go"})+FormatChange("myapp", "", nil))
}
