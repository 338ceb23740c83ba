"""The import benchmark of issue 3: the project beside the floor and the alternatives."""
