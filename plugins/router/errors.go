package router

import (
	"net/http"
	"strconv"
)

// hcode is one of Heroku's router error codes with its status and page.
type hcode struct {
	// Code is the Heroku code, e.g. "H12".
	Code string
	// Desc is the desc= text of the log line.
	Desc string
	// Status is the HTTP status sent to the client (and logged).
	Status int
	// LogStatus, when non-zero, is logged instead of Status (H27 logs 499).
	LogStatus int
	// Title and Body make up the plain error page.
	Title, Body string
}

// The router's error codes, named and described as Heroku's router does.
var (
	errH10 = &hcode{Code: "H10", Desc: "App crashed", Status: 503, Title: "Application error",
		Body: "An error occurred in the application and your page could not be served."}
	errH12 = &hcode{Code: "H12", Desc: "Request timeout", Status: 503, Title: "Application error",
		Body: "The application did not respond in time."}
	errH13 = &hcode{Code: "H13", Desc: "Connection closed without response", Status: 503, Title: "Application error",
		Body: "The application closed the connection without sending a response."}
	errH14 = &hcode{Code: "H14", Desc: "No web processes running", Status: 503, Title: "Application error",
		Body: "No web processes are running for this application."}
	errH15 = &hcode{Code: "H15", Desc: "Idle connection", Status: 503, Title: "Application error",
		Body: "The connection was idle for too long."}
	errH17 = &hcode{Code: "H17", Desc: "Poorly formatted HTTP response", Status: 503, Title: "Application error",
		Body: "The application sent a malformed HTTP response."}
	errH18 = &hcode{Code: "H18", Desc: "Server Request Interrupted", Status: 503, Title: "Application error",
		Body: "The application closed the connection before the request was sent."}
	errH19 = &hcode{Code: "H19", Desc: "Backend connection timeout", Status: 503, Title: "Application error",
		Body: "The application did not accept the connection in time."}
	errH20 = &hcode{Code: "H20", Desc: "App boot timeout", Status: 503, Title: "Application error",
		Body: "The application did not start in time."}
	errH21 = &hcode{Code: "H21", Desc: "Backend connection refused", Status: 503, Title: "Application error",
		Body: "The application refused the connection."}
	errH27 = &hcode{Code: "H27", Desc: "Client Request Interrupted", Status: 499, LogStatus: 499}
	errH80 = &hcode{Code: "H80", Desc: "Maintenance mode", Status: 503, Title: "Offline for maintenance",
		Body: "This application is undergoing maintenance right now. Please check back later."}
	errH81 = &hcode{Code: "H81", Desc: "Blank app", Status: 503, Title: "Nothing here yet",
		Body: "This app has not been deployed yet."}
	errH99 = &hcode{Code: "H99", Desc: "Platform error", Status: 503, Title: "Application error",
		Body: "The platform could not serve this request."}
	// errMiddleware is paasd's own: an app's wasm middleware trapped,
	// overran its time limit or could not be instantiated.
	errMiddleware = &hcode{Code: "H99", Desc: "Middleware error", Status: 502, Title: "Application error",
		Body: "A request middleware of this application failed."}
	// errNoApp is not an H code: the Host names no app.
	errNoApp = &hcode{Desc: "No such app", Status: 404, Title: "No such app",
		Body: "There is no app configured at that hostname."}
	// The client's request was unusable; these are plain 4xx with no code.
	errURITooLong     = &hcode{Desc: "Request-URI Too Long", Status: 414, Title: "Request-URI Too Long", Body: "The request line is too long."}
	errHeaderTooLarge = &hcode{Desc: "Request Header Fields Too Large", Status: 431, Title: "Request Header Fields Too Large", Body: "The request headers are too large."}
	errBodyTooLarge   = &hcode{Desc: "Payload Too Large", Status: 413, Title: "Payload Too Large", Body: "The request body is too large."}
	errBadRequest     = &hcode{Desc: "Bad Request", Status: 400, Title: "Bad Request", Body: "The request is malformed."}
)

// logStatus is the status= value of the log line.
func (h *hcode) logStatus() int {
	if h.LogStatus != 0 {
		return h.LogStatus
	}
	return h.Status
}

// page renders the plain HTML error page.
func (h *hcode) page() []byte {
	b := make([]byte, 0, 512)
	b = append(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"...)
	b = append(b, h.Title...)
	b = append(b, "</title></head>\n<body><h1>"...)
	b = append(b, h.Title...)
	b = append(b, "</h1>\n<p>"...)
	b = append(b, h.Body...)
	b = append(b, "</p>\n"...)
	if h.Code != "" {
		b = append(b, "<p>Error code: "...)
		b = append(b, h.Code...)
		b = append(b, "</p>\n"...)
	}
	b = append(b, "</body></html>\n"...)
	return b
}

// response renders the whole HTTP/1.1 error response.
func (h *hcode) response(requestID []byte, head, closeConn bool) []byte {
	body := h.page()
	b := make([]byte, 0, 256+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(h.Status), 10)
	b = append(b, ' ')
	b = append(b, statusText(h.Status)...)
	b = append(b, "\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-cache, no-store\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	if len(requestID) > 0 {
		b = append(b, "\r\nX-Request-Id: "...)
		b = append(b, requestID...)
	}
	if closeConn {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	if !head {
		b = append(b, body...)
	}
	return b
}

func statusText(code int) string {
	switch code {
	case 499:
		return "Client Closed Request"
	}
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}
