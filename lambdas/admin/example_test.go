package admin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

func ExampleNew() {
	dir, _ := os.MkdirTemp("", "admin-example")
	defer os.RemoveAll(dir)
	st, err := embedded.Open(filepath.Join(dir, "cp.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	h := admin.New(admin.Options{Store: st, Database: "embedded", TokenHash: admin.HashToken("s3cret")})

	req := httptest.NewRequest(http.MethodPut, "/services/billing", strings.NewReader(`{"url":"http://billing.internal:8080"}`))
	req.Header.Set("Kong-Admin-Token", "s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	req = httptest.NewRequest(http.MethodGet, "/services/billing", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// 200
	// 401 {"message":"Invalid authentication credentials"}
}
