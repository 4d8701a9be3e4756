"""Thin HTTP routes: parse, call a service function, return a *Public model."""
