"""The pure core of wa-manager: model, rules, ports and errors. No I/O, no frameworks."""
