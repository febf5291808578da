// Package smpp is filled in by its own issue.
package smpp
