package router_test

import (
	"fmt"
	"net/http"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

func Example() {
	users := model.NewService()
	users.ID = "9b3e1c2a-0000-4000-a000-000000000001"
	users.Host = "users.internal"

	byID := model.NewRoute()
	byID.ID = "9b3e1c2a-0000-4000-a000-000000000002"
	byID.Name = model.String("user-by-id")
	byID.Hosts = []string{"api.example.com"}
	byID.Paths = []string{`~/users/(?<id>\d+)$`}
	byID.Service = &model.Ref{ID: users.ID}

	all := model.NewRoute()
	all.ID = "9b3e1c2a-0000-4000-a000-000000000003"
	all.Name = model.String("users")
	all.Hosts = []string{"api.example.com"}
	all.Paths = []string{"/users"}
	all.Service = &model.Ref{ID: users.ID}

	r, err := router.New([]*model.Route{byID, all}, []*model.Service{users})
	if err != nil {
		fmt.Println(err)
		return
	}

	m := r.Match(&router.Input{Method: http.MethodGet, Host: "API.example.com:9000", Path: "/users//42"})
	fmt.Println(*m.Route.Name, m.Path, m.Captures["id"], m.Service.Host)

	m = r.Match(&router.Input{Method: http.MethodGet, Host: "api.example.com", Path: "/users/me"})
	fmt.Println(*m.Route.Name, m.Prefix)
	// Output:
	// user-by-id /users/42 42 users.internal
	// users /users
}
