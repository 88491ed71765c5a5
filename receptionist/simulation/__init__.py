"""Stand-ins for trying and testing the product: the call simulator, the local Twilio API, the synthetic practice, the demo loader, a simulated campaign month."""
