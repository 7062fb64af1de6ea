"""milestonebill: milestone billing for service firms."""
