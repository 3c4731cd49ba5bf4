"""Test helpers: the local OIDC provider (Node) and headless Chromium (Playwright)."""
