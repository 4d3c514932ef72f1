"""Local provider emulators: real HTTP servers on 127.0.0.1 built on tests.emulators.harness."""
