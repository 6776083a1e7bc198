"""The workflow engine: turns "where" into work a Clinical Engineering team acts on
(states, PPM, loans, alerts, utilisation). ``engine.Workflow`` puts the parts together."""
