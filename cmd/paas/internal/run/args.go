package run

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/paasd/paasd/cmd/paas/internal/cli"
)

// SplitArgs separates paas's own flags from the command to run, as the
// Heroku CLI does: flags paas knows (-a, -s, -e, …) are taken wherever
// they appear before "--"; everything else, unknown flags included, is the
// command ("paas run ls -la -a myapp" runs "ls -la" on myapp). After "--"
// everything is the command ("paas run -a myapp -- rails c -e production").
// isBool reports whether a known flag takes no value; lookup returns
// whether a flag name ("app", or "a" for a shorthand) is known.
func SplitArgs(args []string, lookup func(name string, short bool) (known, isBool bool)) (flags, command []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(command, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' || a == "-" {
			command = append(command, a)
			continue
		}
		name, short := strings.TrimPrefix(a, "--"), false
		if !strings.HasPrefix(a, "--") {
			name, short = a[1:2], true
		}
		hasValue := false
		if short {
			hasValue = len(a) > 2
		} else if n, _, ok := strings.Cut(name, "="); ok {
			name, hasValue = n, true
		}
		known, isBool := lookup(name, short)
		if !known {
			command = append(command, a)
			continue
		}
		flags = append(flags, a)
		if isBool || hasValue {
			continue
		}
		if i+1 >= len(args) || args[i+1] == "--" {
			return nil, nil, cli.Usagef("flag %s needs a value", a)
		}
		i++
		flags = append(flags, args[i])
	}
	return flags, command, nil
}

// parseRunFlags parses args with cmd's flags, by SplitArgs's rules, and
// returns the command.
func parseRunFlags(cmd *cobra.Command, args []string) ([]string, bool, error) {
	fs := cmd.Flags()
	flags, command, err := SplitArgs(args, func(name string, short bool) (bool, bool) {
		if name == "help" || (short && name == "h") {
			return true, true
		}
		var f *pflag.Flag
		if short {
			f = fs.ShorthandLookup(name)
		} else {
			f = fs.Lookup(name)
		}
		if f == nil {
			return false, false
		}
		return true, f.NoOptDefVal != ""
	})
	if err != nil {
		return nil, false, err
	}
	for _, f := range flags {
		if f == "-h" || f == "--help" {
			return nil, true, nil
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, false, &cli.UsageError{Msg: err.Error(), Err: err}
	}
	return command, false, nil
}
