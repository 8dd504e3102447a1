// Hardware: being built (issue 5).
