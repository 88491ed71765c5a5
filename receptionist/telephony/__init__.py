"""Twilio's wire formats: TwiML built with the twilio package's builders, webhook parameters, signatures, the REST client."""
