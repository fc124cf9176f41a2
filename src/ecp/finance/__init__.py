"""The finance side: PES V2 exports to the Trésor, reports to the State, tax certificates."""
