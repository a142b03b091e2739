"""What every layer shares and that depends on none of them: the clock, HTTP body limits, request ids."""
