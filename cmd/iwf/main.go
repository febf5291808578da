// Command iwf is the SIP MESSAGE / SMS to MSRP interworking function.
package main

func main() {}
