package attach_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/paasd/paasd/core"
	"github.com/paasd/paasd/core/attach"
)

// A server mounts the Handler with the dyno manager's Attach (here a
// function that upper-cases its input); a client dials and runs a session.
func Example() {
	mux := http.NewServeMux()
	mux.Handle("GET /apps/{app}/dynos/{dyno}/attach", &attach.Handler{
		Attach: func(ctx context.Context, app, dyno string, aio core.AttachIO) (int, error) {
			in, _ := io.ReadAll(aio.Stdin)
			fmt.Fprintf(aio.Stdout, "%s on %s: %s", dyno, app, strings.ToUpper(string(in)))
			return 0, nil
		},
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := context.Background()
	conn, err := attach.Dial(ctx, nil, srv.URL+"/apps/myapp/dynos/run.1/attach", nil, core.TermSize{Rows: 24, Cols: 80})
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := conn.Run(ctx, strings.NewReader("hello\n"), os.Stdout, nil)
	fmt.Println("exit", code, err)
	// Output:
	// run.1 on myapp: HELLO
	// exit 0 <nil>
}
