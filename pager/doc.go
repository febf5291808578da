// Package pager is filled in by its own issue.
package pager
