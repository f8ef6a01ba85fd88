"""Speaker assignment: diarized turns + a transcript's words → a transcript version with a speaker per segment."""
