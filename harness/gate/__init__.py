"""`shieldlab gate` and `shieldlab check`: expectations decide pass or fail, for CI."""
