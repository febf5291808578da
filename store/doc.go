// Package store is filled in by its own issue.
package store
