// Command withdeps is a sample app with a module dependency, fetched
// through the Go module proxy during the build.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/google/uuid"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from go with deps %s\n", uuid.NewString())
	})
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
